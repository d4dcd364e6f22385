package org.baton.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The server answered with an error status and a {@code {"reason", "message"}} body; carries the
 * status, the reason, the message and the request id to quote when reporting a problem.
 */
public class ApiErrorException extends BatonException {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper MAPPER = new ObjectMapper();

  static final String CLIENT_VERSION_TOO_NEW = "client_version_too_new";
  static final String UNSUPPORTED_API_VERSION = "unsupported_api_version";

  private final int status;
  private final String reason;
  private final String serverMessage;
  private final String requestId;

  /** Creates the error from the answer's status, reason, message and request id (may be null). */
  public ApiErrorException(int status, String reason, String message, String requestId) {
    super(status + " " + reason + ": " + message + (requestId == null ? "" : " (request id " + requestId + ")"));
    this.status = status;
    this.reason = reason;
    this.serverMessage = message;
    this.requestId = requestId;
  }

  /** The HTTP status. */
  public int status() {
    return status;
  }

  /** The server's stable snake_case reason, e.g. {@code not_found}. */
  public String reason() {
    return reason;
  }

  /** The server's sentence for humans. */
  public String serverMessage() {
    return serverMessage;
  }

  /** The request id ({@code X-Request-ID}) of the failed request, or null. */
  public String requestId() {
    return requestId;
  }

  /** The typed error for an error answer's status, body and request id. */
  public static ApiErrorException fromResponse(int status, byte[] body, String requestId) {
    String reason = "http_" + status;
    String message = new String(body, StandardCharsets.UTF_8);
    if (message.length() > 500) {
      message = message.substring(0, 500);
    }
    try {
      JsonNode node = MAPPER.readTree(body);
      if (node != null && node.path("reason").isTextual()) {
        reason = node.get("reason").asText();
        message = node.path("message").asText("");
      }
    } catch (IOException notJson) {
      // Not our error body (a proxy's page, say): keep the raw text as the message.
    }
    if (status == 400 && CLIENT_VERSION_TOO_NEW.equals(reason)) {
      return new ServerTooOldException(status, reason, message, requestId);
    }
    if (status == 400 && UNSUPPORTED_API_VERSION.equals(reason)) {
      return new VersionMismatchException(status, reason, message, requestId);
    }
    switch (status) {
      case 400:
        return new BadRequestException(status, reason, message, requestId);
      case 401:
        return new UnauthorizedException(status, reason, message, requestId);
      case 403:
        return new ForbiddenException(status, reason, message, requestId);
      case 404:
        return new NotFoundException(status, reason, message, requestId);
      case 409:
        return new ConflictException(status, reason, message, requestId);
      case 413:
        return new PayloadTooLargeException(status, reason, message, requestId);
      case 422:
        return new InvalidRequestException(status, reason, message, requestId);
      default:
        if (status >= 500) {
          return new ServerErrorException(status, reason, message, requestId);
        }
        return new ApiErrorException(status, reason, message, requestId);
    }
  }
}
