/** Injection tokens for values that are not classes. */
export const API_CONFIG = Symbol('ApiConfig');
export const PROGRAM_CATALOG = Symbol('ProgramCatalog');
