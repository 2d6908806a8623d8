package io.taskbatch.queue.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.AuthenticationFailureException;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.PossibleAuthenticationFailureException;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.IOException;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;

/**
 * How both roles wait for what is not there yet (the broker at start-up, the batch's queues):
 * exponential back-off from {@value #FIRST_MS} ms doubling to {@value #CAP_MS} ms with ±20% jitter,
 * for at most {@code limit} (null: indefinitely), logging one line when the wait begins, when its
 * reason changes and when it is over; never one per attempt. What waiting cannot fix (credentials,
 * virtual host, TLS trust) ends the wait at once with {@link Refused}.
 */
public final class BrokerWait {
    static final long FIRST_MS = 500;
    static final long CAP_MS = 10_000;

    private final Duration limit;
    private final Consumer<String> log;

    /**
     * @param limit how long to keep trying; null waits indefinitely, zero tries once
     * @param log   where the few lines about the wait go
     */
    public BrokerWait(Duration limit, Consumer<String> log) {
        this.limit = limit;
        this.log = log;
    }

    /** One attempt, no waiting (tools and benchmarks). */
    public static BrokerWait once() {
        return new BrokerWait(Duration.ZERO, line -> { });
    }

    public Duration limit() {
        return limit;
    }

    /** The broker said no for a reason that waiting does not change. */
    public static final class Refused extends IOException {
        Refused(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The wait's limit passed. */
    public static final class GaveUp extends TimeoutException {
        GaveUp(String message) {
            super(message);
        }
    }

    /** The delays of one wait: 0.5 s, 1 s, 2 s ... 10 s, each with ±20% jitter. */
    static final class Backoff {
        private long nextMs = FIRST_MS;

        long next() {
            long base = nextMs;
            nextMs = Math.min(CAP_MS, nextMs * 2);
            double jitter = 0.8 + 0.4 * ThreadLocalRandom.current().nextDouble();
            return Math.max(1, Math.round(base * jitter));
        }
    }

    /** A connection to {@code broker}, waiting for it to be reachable. */
    public Connection connect(BrokerAddress broker, String connectionName) throws Refused, GaveUp, InterruptedException {
        long start = System.nanoTime();
        Backoff backoff = new Backoff();
        String lastReason = null;
        while (true) {
            try {
                Connection connection = broker.newConnection(connectionName);
                if (lastReason != null) log.accept("reached the broker at " + broker + " after " + since(start));
                return connection;
            } catch (IOException | TimeoutException | ShutdownSignalException e) {
                String reason = BrokerAddress.describe(e);
                String refusal = refusal(e, reason);
                if (refusal != null) {
                    throw new Refused("the broker at " + broker + " refused us: " + reason + ". This is not transient: "
                            + refusal, e);
                }
                long delay = backoff.next();
                if (expired(start, delay)) {
                    throw new GaveUp("cannot reach the broker at " + broker + " (" + reason + "); gave up after "
                            + since(start) + " (--broker-wait " + describe(limit) + ")");
                }
                if (!reason.equals(lastReason)) {
                    log.accept("cannot reach the broker at " + broker + " (" + reason + "); retrying in " + seconds(delay)
                            + ", backing off to " + seconds(CAP_MS) + (limit == null ? "" : " for up to " + describe(limit))
                            + ". Check that the broker runs and that its host name resolves and its port is open from here");
                    lastReason = reason;
                }
                Thread.sleep(delay);
            }
        }
    }

    /** Whether a wait begun at {@code startNanos} may not sleep {@code delayMs} more. */
    boolean expired(long startNanos, long delayMs) {
        return limit != null && System.nanoTime() - startNanos + delayMs * 1_000_000 > limit.toNanos();
    }

    /** What to check when {@code e} is a refusal that waiting cannot cure; null when it is transient. */
    static String refusal(Throwable e, String reason) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof AuthenticationFailureException || t instanceof PossibleAuthenticationFailureException) {
                return "check the user and password in the broker URI (or the Secret it comes from)";
            }
            if (t instanceof SSLException) {
                return "check the broker's TLS certificate and --broker-ca";
            }
            if (t instanceof ShutdownSignalException s && s.getReason() instanceof AMQP.Connection.Close c) {
                if (c.getReplyCode() == AMQP.ACCESS_REFUSED) {
                    return "check the user and password in the broker URI (or the Secret it comes from)";
                }
                if (c.getReplyCode() == AMQP.NOT_ALLOWED) {
                    return "check the virtual host in the broker URI and the user's permissions on it";
                }
            }
        }
        return reason.toUpperCase(Locale.ROOT).startsWith("ACCESS_REFUSED")
                ? "check the user and password in the broker URI (or the Secret it comes from)" : null;
    }

    static String since(long startNanos) {
        return seconds((System.nanoTime() - startNanos) / 1_000_000);
    }

    static String seconds(long millis) {
        if (millis < 10_000) {
            String s = String.format(Locale.ROOT, "%.1f", millis / 1000.0);
            return (s.endsWith(".0") ? s.substring(0, s.length() - 2) : s) + " s";
        }
        return Math.round(millis / 1000.0) + " s";
    }

    static String describe(Duration d) {
        return d == null ? "forever" : seconds(d.toMillis());
    }

    /** A condition {@link #until} waits for; it may throw, which counts as "not yet". */
    @FunctionalInterface
    public interface Check {
        boolean done() throws Exception;
    }

    /**
     * Waits with back-off until {@code check} holds. Logs {@code waiting} once if it does not hold at
     * first, and "{@code ready} after N s" once it does (nothing when it held at once).
     *
     * @return true once it holds; false if the limit passed first
     */
    public boolean until(Check check, String waiting, Supplier<String> ready) throws InterruptedException {
        long start = System.nanoTime();
        Backoff backoff = new Backoff();
        boolean logged = false;
        while (true) {
            boolean done;
            try {
                done = check.done();
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                done = false;
            }
            if (done) {
                if (logged) log.accept(ready.get() + " after " + since(start));
                return true;
            }
            long delay = backoff.next();
            if (expired(start, delay)) return false;
            if (!logged) {
                log.accept(waiting);
                logged = true;
            }
            Thread.sleep(delay);
        }
    }
}
