/** Node-only helpers of the public API (file system and stdio). The core entry stays platform-neutral. */
export { NodeHost } from '../user/host-node.ts';
