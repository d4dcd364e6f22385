package bundle

// ServeArgs is Serve without the exit: the status it would exit with.
var ServeArgs = serve
