/** The connector's id in connections (`scaleflex@<version>`) and catalogues. */
export const CONNECTOR_ID = 'scaleflex';

/** Kept equal to package.json's version (a test checks). */
export const CONNECTOR_VERSION = '0.1.0';
