export { SbxError, isSbxError, type SbxErrorOptions } from "./sbx-error.js";
