import { eraseCustomer } from '../../../compliance/erase.js';
import { exportCustomer } from '../../../compliance/export.js';
import { setLegalHold } from '../../../compliance/hold.js';
import { searchMessages } from '../../../compliance/search.js';
import type { AdminServices } from './services.js';

/**
 * The data-subject services wired into the admin API (the same code the CLI runs). A service
 * missing here answers 501 `not_implemented`.
 */
export const complianceServices: AdminServices = { exportCustomer, eraseCustomer, setLegalHold, searchMessages };
