"""The local scheduler: the daemon, its queue, the GPU allocator and the executors that start runs."""
