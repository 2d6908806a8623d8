package io.taskbatch.queue.amqp;

import com.rabbitmq.client.Channel;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;

/**
 * The queues of one batch, named from its identity so two batches never share one:
 * {@code taskbatch.<namespace>.<name>[.<uid>]} followed by {@code .tasks}, {@code .results},
 * {@code .dead}, {@code .retry.<attempt>} and {@code .finished}.
 *
 * <ul>
 *   <li>tasks: a quorum queue whose delivery limit turns a task that keeps killing its worker into
 *       a dead letter instead of an endless loop;</li>
 *   <li>retry.N: holds a task that failed attempt N for that attempt's backoff, then dead-letters it
 *       back onto the task queue;</li>
 *   <li>dead: dead letters (delivery limit reached, malformed messages), read by the master;</li>
 *   <li>finished: exists once the master has declared the batch over;</li>
 *   <li>ready: an exchange, not a queue, declared last and bound to the task queue: it exists only
 *       once every queue of the batch is up, and goes away by itself (auto-delete) when the task
 *       queue is deleted. Workers wait for it: a quorum queue is visible to a passive declare before
 *       its Raft leader runs, and consuming it then closes the connection (541 INTERNAL_ERROR).</li>
 * </ul>
 *
 * <p>With {@code shards} K &gt; 1 (spec.queues.shards) the task and result queues are K quorum queues each:
 * shard 0 keeps the names above, shard i &gt; 0 is {@code .tasks.i} and {@code .results.i}. Each is declared with
 * {@code x-queue-leader-locator: balanced}, so the broker puts their Raft leaders on its least loaded nodes and one
 * batch can use more than one node's throughput. Retries, suspects and dead letters stay single queues: they carry
 * the few tasks that fail, not the batch.
 */
public record BatchQueues(String prefix, int shards) {
    public static final String REASON_HEADER = "x-taskbatch-reason";

    public BatchQueues {
        if (shards < 1) throw new IllegalArgumentException("shards must be at least 1, was " + shards);
    }

    /** One task queue and one result queue. */
    public BatchQueues(String prefix) {
        this(prefix, 1);
    }

    /** The same batch's queues spread over {@code shards} task and result queues. */
    public BatchQueues withShards(int shards) {
        return new BatchQueues(prefix, shards);
    }

    public static BatchQueues of(String namespace, String name, String uid) {
        StringBuilder sb = new StringBuilder("taskbatch.").append(clean(namespace == null ? "local" : namespace))
                .append('.').append(clean(name));
        if (uid != null && !uid.isBlank()) sb.append('.').append(clean(uid.length() > 8 ? uid.substring(0, 8) : uid));
        return new BatchQueues(sb.toString());
    }

    /**
     * The queues of round {@code round} of the batch (a redrive): their own, so that nothing a decided round left
     * (its finished marker, a late result) reaches the next one.
     */
    public BatchQueues inRound(int round) {
        return round == 0 ? this : new BatchQueues(prefix + ".r" + round, shards);
    }

    private static String clean(String part) {
        return part.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
    }

    /** Shard 0's task queue: where retries return to. */
    public String tasks() {
        return tasks(0);
    }

    public String results() {
        return results(0);
    }

    /** The task queue of shard {@code shard} (0 to shards - 1). */
    public String tasks(int shard) {
        return shard == 0 ? prefix + ".tasks" : prefix + ".tasks." + shard;
    }

    /** The result queue of shard {@code shard} (0 to shards - 1). */
    public String results(int shard) {
        return shard == 0 ? prefix + ".results" : prefix + ".results." + shard;
    }

    /** The shard a task goes to: by id, so a task published again (after a nack or a restart) lands where it was. */
    public int shardOf(long taskId) {
        return (int) Math.floorMod(taskId, (long) shards);
    }

    public String dead() {
        return prefix + ".dead";
    }

    public String finished() {
        return prefix + ".finished";
    }

    /** The exchange whose existence says "every queue of the batch is declared and up". */
    /**
     * The batch's master lock: an exclusive, auto-deleted queue that the running master's connection holds, so a
     * second master of the same batch on the same broker (two local runs of one name, a stale master pod) is
     * refused, instead of deleting the queues from under the first. It goes with the connection, a killed
     * master's included.
     */
    public String master() {
        return prefix + ".master";
    }

    /**
     * Tasks delivered before to a worker that died while holding them: a worker runs them one at a time, with no
     * other task running, so that a death charges only the task that caused it (see AmqpWorkerTransport).
     */
    public String suspects() {
        return prefix + ".suspects";
    }

    public String ready() {
        return prefix + ".ready";
    }

    /**
     * The most retry queues a batch has. A quorum queue is a Raft group with its own files and processes on every
     * node: one per attempt made {@code retry.maxAttempts: 1000} declare 999 of them, which ran a broker out of file
     * handles until it accepted no connection at all. From this attempt on, every retry waits in the last queue, with
     * its delay ({@code backoff} doubled 15 times, or {@code maxBackoff} if that comes first).
     */
    public static final int MAX_RETRY_QUEUES = 16;

    /** How many retry queues a batch of {@code maxAttempts} has: one per failed attempt that may be retried, at most 16. */
    public static int retryQueues(int maxAttempts) {
        return Math.max(0, Math.min(maxAttempts - 1, MAX_RETRY_QUEUES));
    }

    /** Where a task that failed attempt {@code failedAttempt} waits before its next attempt. */
    public String retry(int failedAttempt) {
        return prefix + ".retry." + Math.min(failedAttempt, MAX_RETRY_QUEUES);
    }

    /**
     * Declares every queue of the batch (idempotent: same arguments each time), then the ready exchange: a quorum
     * queue's declare-ok comes once its leader runs, so when workers see the exchange, everything they use is there.
     * The shards come first: the broker places each next leader on the node with the fewest, so K task shards
     * declared one after another on a cluster of K nodes get one node each, before the single queues (placed on the
     * node the master is connected to) tip the count.
     *
     * @param retryDelays the delay after each failed attempt: index 0 is after attempt 1
     */
    public void declare(Channel channel, int deliveryLimit, List<Duration> retryDelays) throws IOException {
        // the task queue's limit is a safety net: a task delivered again is moved to the suspects at once
        for (int shard = 0; shard < shards; shard++) {
            Map<String, Object> tasks = deadLettering(deliveryLimit);
            if (shards > 1) tasks.put(LEADER_LOCATOR, "balanced");
            channel.queueDeclare(tasks(shard), true, false, false, tasks);
        }
        for (int shard = 0; shard < shards; shard++) channel.queueDeclare(results(shard), true, false, false, sharded());
        channel.queueDeclare(dead(), true, false, false, quorum());
        for (int i = 0; i < retryDelays.size(); i++) {
            Map<String, Object> retry = quorum();
            retry.put("x-message-ttl", Math.max(1, retryDelays.get(i).toMillis()));
            retry.put("x-dead-letter-exchange", "");
            retry.put("x-dead-letter-routing-key", tasks());
            retry.put("x-dead-letter-strategy", "at-least-once");
            retry.put("x-overflow", "reject-publish");
            channel.queueDeclare(retry(i + 1), true, false, false, retry);
        }
        // a suspect ran once beside others when its worker died: it may die alone deliveryLimit - 1 more times, so a
        // poison task runs at most deliveryLimit + 1 times in all, as it did when the task queue alone counted
        channel.queueDeclare(suspects(), true, false, false, deadLettering(Math.max(0, deliveryLimit - 1)));
        // auto-delete: deleting the task queues removes the bindings, and with the last the exchange
        channel.exchangeDeclare(ready(), "direct", true, true, Map.of());
        for (int shard = 0; shard < shards; shard++) channel.queueBind(tasks(shard), ready(), tasks(shard));
    }

    /** Marks the batch over; the marker disappears by itself an hour after its last use. */
    public void declareFinished(Channel channel) throws IOException {
        channel.queueDeclare(finished(), true, false, false, Map.of("x-expires", 3_600_000));
    }

    /** Deletes the batch's work queues (not the finished marker, which expires by itself). */
    public void delete(Channel channel, int retryQueues) throws IOException {
        for (int shard = 0; shard < shards; shard++) {
            channel.queueDelete(tasks(shard));
            channel.queueDelete(results(shard));
        }
        channel.queueDelete(dead());
        channel.queueDelete(suspects());
        for (int i = 1; i <= retryQueues; i++) channel.queueDelete(retry(i));
    }

    private Map<String, Object> deadLettering(int deliveryLimit) {
        Map<String, Object> args = quorum();
        args.put("x-delivery-limit", deliveryLimit);
        args.put("x-dead-letter-exchange", "");
        args.put("x-dead-letter-routing-key", dead());
        // quorum queues dead-letter at most once unless told at-least-once, which needs reject-publish
        args.put("x-dead-letter-strategy", "at-least-once");
        args.put("x-overflow", "reject-publish");
        return args;
    }

    /** Where the broker puts a new quorum queue's leader: RabbitMQ 3.10+ knows client-local and balanced. */
    static final String LEADER_LOCATOR = "x-queue-leader-locator";

    /** A result queue: with several shards, its leader goes where the fewest leaders are. */
    private Map<String, Object> sharded() {
        Map<String, Object> args = quorum();
        if (shards > 1) args.put(LEADER_LOCATOR, "balanced");
        return args;
    }

    private static Map<String, Object> quorum() {
        Map<String, Object> args = new HashMap<>();
        args.put("x-queue-type", "quorum");
        return args;
    }
}
