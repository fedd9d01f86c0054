import type { eraseCustomer } from '../../../compliance/erase.js';
import type { exportCustomer } from '../../../compliance/export.js';
import type { setLegalHold } from '../../../compliance/hold.js';
import type { searchMessages } from '../../../compliance/search.js';

/**
 * The data-subject services the admin API calls: the very functions the CLI runs (wired in
 * `compliance-services.ts`). Each is optional so an app can be built without one (tests); a
 * route whose service is not wired answers 501 `not_implemented`.
 */
export interface AdminServices {
  exportCustomer?: typeof exportCustomer;
  eraseCustomer?: typeof eraseCustomer;
  setLegalHold?: typeof setLegalHold;
  searchMessages?: typeof searchMessages;
}
