"""DataFrame -> matplotlib Figure, one function per experiment."""
