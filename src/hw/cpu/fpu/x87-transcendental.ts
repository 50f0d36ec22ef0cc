/** Temporary: the transcendental instructions (being written). */
import { undefinedOpcode as f2xm1 } from '../system.ts';
export { f2xm1, f2xm1 as fyl2x, f2xm1 as fptan, f2xm1 as fpatan, f2xm1 as fsincos, f2xm1 as fsin, f2xm1 as fcos, f2xm1 as fyl2xp1 };
