package org.baton.client;

import java.io.IOException;
import java.net.Authenticator;
import java.net.ConnectException;
import java.net.CookieHandler;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

/**
 * An {@link HttpClient} that adds what every Baton request needs: the pinned version, the current
 * token and a request id; it swaps in the token the server returns in {@code Refreshed-API-Token}
 * and retries transport errors and 5xx answers of requests that are safe to repeat with exponential
 * backoff, waiting at least what a {@code Retry-After} header asks (a 503 while the server's database
 * is unreachable) but never more than the policy's longest wait. Safe to repeat: every idempotent
 * method, the POSTs of worker and DAG registrations (upserts) and claims (workloads a worker never
 * heard of go back to the queue), and a log batch that carries a batch id (stored once), which
 * {@link BatonClient#uploadLogs} marks with {@link #repeatable}.
 */
final class BatonHttpClient extends HttpClient {
  static final String VERSION_HEADER = "Baton-API-Version";
  static final String REFRESHED_TOKEN_HEADER = "Refreshed-API-Token";
  static final String REQUEST_ID_HEADER = "X-Request-ID";
  // Every PATCH of the Baton API is idempotent by contract (run replays its answer for the same host
  // and pid, state repeats harmlessly, a DAG update sets fields); the server's tests hold it to that.
  private static final Set<String> IDEMPOTENT = Set.of("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE");
  private static final Pattern RETRYABLE_POST = Pattern.compile("/workers/(registrations|dags|[^/]+/claims)$");

  // Set while the calling thread sends a request that is safe to repeat although its route is not.
  private static final ThreadLocal<Boolean> REPEATABLE = new ThreadLocal<>();

  private final HttpClient delegate;
  private final AtomicReference<String> token;
  private final RetryPolicy retry;
  private final String version;

  BatonHttpClient(HttpClient delegate, AtomicReference<String> token, RetryPolicy retry, String version) {
    this.delegate = delegate;
    this.token = token;
    this.retry = retry;
    this.version = version;
  }

  private HttpRequest prepare(HttpRequest request) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(request, (name, value) -> true);
    builder.setHeader(VERSION_HEADER, version);
    String current = token.get();
    if (current != null && !current.isEmpty()) {
      builder.setHeader("Authorization", "Bearer " + current);
    }
    if (request.headers().firstValue(REQUEST_ID_HEADER).isEmpty()) {
      // One id for every try of this request: the server's logs tie the retries together.
      builder.setHeader(REQUEST_ID_HEADER, UUID.randomUUID().toString().replace("-", ""));
    }
    return builder.build();
  }

  private void refreshFrom(HttpHeaders headers) {
    headers.firstValue(REFRESHED_TOKEN_HEADER).filter(t -> !t.isEmpty()).ifPresent(token::set);
  }

  static boolean safeToRepeat(HttpRequest request) {
    String method = request.method();
    return IDEMPOTENT.contains(method)
        || Boolean.TRUE.equals(REPEATABLE.get())
        || ("POST".equals(method) && RETRYABLE_POST.matcher(request.uri().getPath()).find());
  }

  /** Runs {@code call}, whose request this thread sends, as one that is safe to repeat. */
  static <T> T repeatable(java.util.function.Supplier<T> call) {
    REPEATABLE.set(Boolean.TRUE);
    try {
      return call.get();
    } finally {
      REPEATABLE.remove();
    }
  }

  private static boolean neverSent(IOException error) {
    return error instanceof ConnectException || error instanceof HttpConnectTimeoutException;
  }

  @Override
  public <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler)
      throws IOException, InterruptedException {
    HttpRequest prepared = prepare(request);
    boolean idempotent = safeToRepeat(prepared);
    long started = System.nanoTime();
    for (int attempt = 1; ; attempt++) {
      HttpResponse<T> response;
      try {
        // The whole body is read here, not by the caller: a body cut short (a server killed after
        // its headers) is an IOException that the rules above retry.
        response = buffered(delegate.send(prepared, HttpResponse.BodyHandlers.ofByteArray()), handler);
      } catch (IOException error) {
        Duration delay = retry.delay(attempt);
        if (!(idempotent || neverSent(error)) || !retry.allows(attempt, started, delay)) {
          throw error;
        }
        Thread.sleep(delay.toMillis());
        continue;
      }
      refreshFrom(response.headers());
      if (response.statusCode() >= 500 && idempotent) {
        Duration delay = retry.delay(attempt, response.headers().firstValue("Retry-After"));
        if (retry.allows(attempt, started, delay)) {
          Thread.sleep(delay.toMillis());
          continue;
        }
      }
      return response;
    }
  }

  /** The answer {@code raw}, its body (already read) handed to {@code handler} as if it arrived now. */
  private static <T> HttpResponse<T> buffered(HttpResponse<byte[]> raw, HttpResponse.BodyHandler<T> handler)
      throws IOException {
    // The handler is told the answer's status, headers and version: the answer without its body yet.
    HttpResponse.BodySubscriber<T> subscriber = handler.apply(new Buffered<T>(raw, null));
    subscriber.onSubscribe(new Replay(subscriber, raw.body()));
    try {
      return new Buffered<>(raw, subscriber.getBody().toCompletableFuture().join());
    } catch (CompletionException e) {
      throw new IOException("reading the answer: " + e.getCause(), e.getCause());
    }
  }

  /**
   * Hands a body that was read in full to a subscriber as it asks: the bytes on its first request,
   * the end on the next (the JDK's input-stream subscriber takes one item at a time).
   */
  private static final class Replay implements Flow.Subscription {
    private final HttpResponse.BodySubscriber<?> subscriber;
    private final byte[] body;
    private boolean sent;
    private boolean ended;

    Replay(HttpResponse.BodySubscriber<?> subscriber, byte[] body) {
      this.subscriber = subscriber;
      this.body = body;
    }

    @Override
    public synchronized void request(long n) {
      long wanted = n;
      if (!sent && wanted > 0) {
        sent = true;
        wanted--;
        subscriber.onNext(List.of(ByteBuffer.wrap(body)));
      }
      if (sent && !ended && wanted > 0) {
        ended = true;
        subscriber.onComplete();
      }
    }

    @Override
    public synchronized void cancel() {
      sent = true;
      ended = true;
    }
  }

  /**
   * An answer whose body was read in full before it was handed on; before its body handler has made
   * the body ({@code body} null), it is also what the handler is told of the answer.
   */
  private record Buffered<T>(HttpResponse<byte[]> raw, T body)
      implements HttpResponse<T>, HttpResponse.ResponseInfo {
    @Override
    public int statusCode() {
      return raw.statusCode();
    }

    @Override
    public HttpRequest request() {
      return raw.request();
    }

    @Override
    public Optional<HttpResponse<T>> previousResponse() {
      return Optional.empty();
    }

    @Override
    public HttpHeaders headers() {
      return raw.headers();
    }

    @Override
    public Optional<SSLSession> sslSession() {
      return raw.sslSession();
    }

    @Override
    public URI uri() {
      return raw.uri();
    }

    @Override
    public Version version() {
      return raw.version();
    }
  }

  @Override
  public <T> CompletableFuture<HttpResponse<T>> sendAsync(
      HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    return delegate.sendAsync(prepare(request), handler).thenApply(this::refreshed);
  }

  @Override
  public <T> CompletableFuture<HttpResponse<T>> sendAsync(
      HttpRequest request,
      HttpResponse.BodyHandler<T> handler,
      HttpResponse.PushPromiseHandler<T> pushHandler) {
    return delegate.sendAsync(prepare(request), handler, pushHandler).thenApply(this::refreshed);
  }

  private <T> HttpResponse<T> refreshed(HttpResponse<T> response) {
    refreshFrom(response.headers());
    return response;
  }

  @Override
  public Optional<CookieHandler> cookieHandler() {
    return delegate.cookieHandler();
  }

  @Override
  public Optional<Duration> connectTimeout() {
    return delegate.connectTimeout();
  }

  @Override
  public Redirect followRedirects() {
    return delegate.followRedirects();
  }

  @Override
  public Optional<ProxySelector> proxy() {
    return delegate.proxy();
  }

  @Override
  public SSLContext sslContext() {
    return delegate.sslContext();
  }

  @Override
  public SSLParameters sslParameters() {
    return delegate.sslParameters();
  }

  @Override
  public Optional<Authenticator> authenticator() {
    return delegate.authenticator();
  }

  @Override
  public Version version() {
    return delegate.version();
  }

  @Override
  public Optional<Executor> executor() {
    return delegate.executor();
  }
}
