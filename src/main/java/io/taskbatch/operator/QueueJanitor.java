package io.taskbatch.operator;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.queue.amqp.BatchQueues;
import io.taskbatch.queue.amqp.BrokerAddress;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.TimeoutException;

/** Deletes a deleted batch's queues from its broker, found through the batch's broker Secret. */
public final class QueueJanitor {
    private final KubernetesClient client;
    private final OperatorConfig config;

    public QueueJanitor(KubernetesClient client, OperatorConfig config) {
        this.client = client;
        this.config = config;
    }

    /** Thrown when cleanup cannot happen at all (no Secret): retrying will not help. */
    public static final class NoBroker extends Exception {
        NoBroker(String message) {
            super(message);
        }
    }

    /** @return the number of queues deleted */
    public int deleteQueues(TaskBatch batch) throws NoBroker, IOException, TimeoutException {
        BrokerAddress broker = broker(batch);
        BatchQueues queues = BatchQueues.of(batch.getMetadata().getNamespace(), batch.getMetadata().getName(),
                batch.getMetadata().getUid()).withShards(shards(batch));
        int retryQueues = BatchQueues.retryQueues(batch.getSpec().getRetry().getMaxAttempts());
        int rounds = BatchRounds.current(batch) + 1;
        try (Connection connection = broker.newConnection("taskbatch-operator-cleanup");
             Channel channel = connection.createChannel()) {
            for (int round = 0; round < rounds; round++) {
                queues.inRound(round).delete(channel, retryQueues);
                channel.queueDelete(queues.inRound(round).finished());
            }
        }
        return (2 * queues.shards() + 2 + retryQueues) * rounds;
    }

    private static int shards(TaskBatch batch) {
        return batch.getSpec().getQueues() == null ? 1 : batch.getSpec().getQueues().getShards();
    }

    private BrokerAddress broker(TaskBatch batch) throws NoBroker {
        String name = BatchPods.brokerSecret(batch, config);
        Secret secret = client.secrets().inNamespace(batch.getMetadata().getNamespace()).withName(name).get();
        if (secret == null) throw new NoBroker("Secret " + name + " is gone, so the broker of its queues is unknown");
        String encoded = secret.getData() == null ? null : secret.getData().get(config.brokerSecretKey());
        String uri = encoded != null ? new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8)
                : secret.getStringData() == null ? null : secret.getStringData().get(config.brokerSecretKey());
        if (uri == null) throw new NoBroker("Secret " + name + " has no key " + config.brokerSecretKey());
        try {
            return BrokerAddress.of(uri.trim());
        } catch (IllegalArgumentException e) {
            throw new NoBroker("Secret " + name + " key " + config.brokerSecretKey() + ": " + e.getMessage());
        }
    }
}
