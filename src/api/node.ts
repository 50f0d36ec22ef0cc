/** Node-only helpers of the public API (file system and stdio). The core entry stays platform-neutral. */
export { NodeHost } from '../user/host-node.ts';
export { StdoutSink, stdinSource } from '../host/console.ts';
export { DiskError, FileDisk } from '../host/file-disk.ts';
export { FileBackingStore } from '../host/file-backing-store.ts';
export { FONT_FILES, svgToPng } from '../host/png.ts';
