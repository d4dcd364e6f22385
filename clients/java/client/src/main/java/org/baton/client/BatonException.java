package org.baton.client;

/**
 * Base class of every error the Baton client throws; all are unchecked.
 *
 * <pre>
 * BatonException
 * ├── TransportException            the server could not be reached (after the retries)
 * ├── InvalidKeyException           a key or id the API cannot take (refused before anything is sent)
 * └── ApiErrorException             the server answered with an error status
 *     ├── BadRequestException           400
 *     │   └── VersionMismatchException      the server does not serve this client's API version
 *     │       └── ServerTooOldException         ... because the client is newer: upgrade the server
 *     ├── UnauthorizedException         401
 *     ├── ForbiddenException            403
 *     ├── NotFoundException             404
 *     ├── ConflictException             409
 *     ├── PayloadTooLargeException      413
 *     ├── InvalidRequestException       422
 *     └── ServerErrorException          5xx
 * </pre>
 */
public class BatonException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates the error with a message. */
  public BatonException(String message) {
    super(message);
  }

  /** Creates the error with a message and its cause. */
  public BatonException(String message, Throwable cause) {
    super(message, cause);
  }
}
