/**
 * MIT's xv6 (../shared/clients/xv6), booted as QEMU boots it, natively: ls, cat, echo, forktest
 * answered as under QEMU, stressfs, and usertests to "ALL TESTS PASSED" (xv6/xv6.ts). Skipped,
 * with the reason, when ../shared/clients/xv6 is not there.
 */
import { describeXv6Session } from './xv6/xv6.ts';

describeXv6Session('native', 'natively');
