//! The compiled decision tree the kernel walks (filled in by the model issue).
