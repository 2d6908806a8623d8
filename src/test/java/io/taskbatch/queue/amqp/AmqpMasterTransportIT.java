package io.taskbatch.queue.amqp;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.taskbatch.queue.MasterTransport.ResultDelivery;
import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import io.taskbatch.testing.RabbitExtension;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The master's transport against a real (private) RabbitMQ: results that come several to a message. */
class AmqpMasterTransportIT {
    @RegisterExtension
    static final RabbitExtension RABBIT = new RabbitExtension();

    /**
     * A worker sends the results it gathered as one message. A master that stored some of them and then died must get
     * that message again, all of it: the message is acknowledged with its last result, never with an earlier one.
     */
    @Test
    void aMessageOfSeveralResultsIsAcknowledgedOnlyOnceEveryResultInItIsStored() throws Exception {
        BrokerAddress broker = BrokerAddress.of(RABBIT.node().amqpUri());
        BatchQueues queues = BatchQueues.of(null, "several", null);
        try (AmqpMasterTransport master = master(broker, queues, true)) {
            publish(broker, queues, lines(result(1), result(2), result(3)));
            List<ResultDelivery> stored = poll(master, 2);
            assertThat(stored).extracting(d -> d.result().id()).containsExactly(1L, 2L);
            master.ackAll(stored); // then the master dies with the third unstored
        }
        try (AmqpMasterTransport master = master(broker, queues, false)) {
            List<ResultDelivery> again = poll(master, 3);
            assertThat(again).as("the whole message came again").extracting(d -> d.result().id()).containsExactly(1L, 2L, 3L);
            master.ackAll(again);
        }
        try (AmqpMasterTransport master = master(broker, queues, false)) {
            assertThat(master.pollResults(10, Duration.ofSeconds(2))).as("acknowledged once all three were stored").isEmpty();
        }
    }

    /** A malformed or forged line costs that line alone: the results beside it in the message are kept. */
    @Test
    void aMalformedLineInAMessageOfSeveralLosesOnlyThatLine() throws Exception {
        BrokerAddress broker = BrokerAddress.of(RABBIT.node().amqpUri());
        BatchQueues queues = BatchQueues.of(null, "several-bad", null);
        try (AmqpMasterTransport master = master(broker, queues, true)) {
            publish(broker, queues, lines(result(1), "{\"id\":2,\"status\":\"won\"}".getBytes(StandardCharsets.UTF_8),
                    "not json".getBytes(StandardCharsets.UTF_8), result(4)));
            List<ResultDelivery> got = poll(master, 2);
            assertThat(got).extracting(d -> d.result().id()).containsExactly(1L, 4L);
            master.ackAll(got);
            assertThat(master.pollResults(10, Duration.ofSeconds(1))).isEmpty();
        }
    }

    private static AmqpMasterTransport master(BrokerAddress broker, BatchQueues queues, boolean fresh) throws Exception {
        return new AmqpMasterTransport(broker, queues, 3, List.of(Duration.ofSeconds(1)), 100, fresh, false);
    }

    private static List<ResultDelivery> poll(AmqpMasterTransport master, int count) throws InterruptedException {
        List<ResultDelivery> got = new ArrayList<>();
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (got.size() < count && System.nanoTime() < end) got.addAll(master.pollResults(1, Duration.ofMillis(200)));
        return got;
    }

    private static byte[] result(long id) {
        return MessageCodec.encode(ResultMessage.succeeded(TaskMessage.first(id, "in" + id), "out" + id, 1, "w/1"));
    }

    private static byte[] lines(byte[]... lines) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (int i = 0; i < lines.length; i++) {
            if (i > 0) body.write('\n');
            body.writeBytes(lines[i]);
        }
        return body.toByteArray();
    }

    private static void publish(BrokerAddress broker, BatchQueues queues, byte[] body) throws Exception {
        try (Connection connection = broker.newConnection("test-worker"); Channel channel = connection.createChannel()) {
            channel.confirmSelect();
            channel.basicPublish("", queues.results(), MessageCodec.RESULTS_PROPERTIES, body);
            channel.waitForConfirmsOrDie(10_000);
        }
    }
}
