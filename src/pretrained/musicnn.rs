//! See the module docs in `super`; filled in by its port.
