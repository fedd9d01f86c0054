import { searchMessages } from '../../../compliance/search.js';
import type { AdminServices } from './services.js';

/**
 * The data-subject services wired into the admin API. A service missing here answers 501
 * `not_implemented`, so the API can ship before every service does.
 */
export const complianceServices: AdminServices = { searchMessages };
