"""Routes of the Task Execution API: everything a running task needs, scoped by its token."""
