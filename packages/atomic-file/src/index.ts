export { AtomicFileError, resolveWriteDirectory, writeFileAtomic, writeFileAtomicSync, type AtomicFileErrorCode, type AtomicWriteOptions } from "./write-file-atomic.js";
