export interface Trigger { id: string }
export const TRIGGERS: readonly Trigger[] = [];
