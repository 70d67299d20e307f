// Loader and typed wrappers for the native addon.
export {};
