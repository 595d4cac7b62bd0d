export { defineStepAction, isItemStream, type StepAction, type StepContext, type SourceItem, type BuiltinConnector } from './step-action.js';
