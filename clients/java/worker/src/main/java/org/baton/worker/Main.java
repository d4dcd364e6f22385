package org.baton.worker; final class Main { private Main() {} }
