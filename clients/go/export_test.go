package baton

// WithVersionForTest lets tests play a client generated for another API version.
var WithVersionForTest = withVersion
