package io.taskbatch.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The private-broker harness itself: a real RabbitMQ process, restarted, killed and cleaned up. */
class RabbitNodeTest {

    @RegisterExtension
    static final RabbitExtension rabbit = new RabbitExtension();

    @BeforeAll
    static void theNodeIsInjectedIntoLifecycleMethodsToo(RabbitNode node) {
        assertThat(node).isSameAs(rabbit.node());
        assertThat(node.isRunning()).isTrue();
        System.out.printf("[RabbitNodeTest] %s started in %d ms%n", node, node.lastStartMillis());
    }

    @Test
    void acceptsAConnectionAtItsAmqpUri(RabbitNode node) throws Exception {
        assertThat(node.nodeName()).matches("tb-[a-z0-9]+@localhost");
        assertThat(node.port()).isNotEqualTo(5672);
        assertThat(node.amqpUri()).isEqualTo("amqp://guest:guest@127.0.0.1:" + node.port() + "/%2F");
        try (Connection c = connect(node)) {
            assertThat(c.isOpen()).isTrue();
            assertThat(c.getServerProperties().get("version").toString()).startsWith("3.");
        }
        assertThat(node.rabbitmqctl("eval", "node().")).contains(node.nodeName());
        // why amqpUri() spells out the virtual host: a bare trailing "/" means the virtual host "" to this client
        ConnectionFactory bareSlash = new ConnectionFactory();
        bareSlash.setUri("amqp://guest:guest@127.0.0.1:" + node.port() + "/");
        assertThat(bareSlash.getVirtualHost()).isEmpty();
        assertThatThrownBy(() -> bareSlash.newConnection().close()).isInstanceOf(IOException.class);
    }

    @Test
    void aDurableQuorumQueueKeepsAPersistentMessageAcrossARestart(RabbitNode node) throws Exception {
        String queue = "restart-survivor";
        int port = node.port();
        Connection before = connect(node);
        try (Channel ch = before.createChannel()) {
            declareQuorum(ch, queue);
            publishConfirmed(ch, queue, "still here");
            assertThat(ch.queueDeclarePassive(queue).getMessageCount()).isEqualTo(1);
        }
        assertThat(queueList(node)).contains(queue + "\tquorum\ttrue");

        long t0 = System.nanoTime();
        node.stop();
        long stopped = System.nanoTime();
        assertThat(node.isRunning()).isFalse();
        assertThat(RabbitNode.listening(port)).as("AMQP port closed after stop()").isFalse();
        assertThat(nodeProcesses(node.nodeName())).isEmpty();
        assertThat(before.isOpen()).as("the client saw the broker go").isFalse();
        node.startAgain();
        long started = System.nanoTime();
        System.out.printf("[RabbitNodeTest] stop %d ms, startAgain %d ms%n", (stopped - t0) / 1_000_000,
                (started - stopped) / 1_000_000);

        assertThat(node.port()).isEqualTo(port);
        assertThat(queueList(node)).contains(queue + "\tquorum\ttrue");
        try (Connection after = connect(node); Channel ch = after.createChannel()) {
            GetResponse got = ch.basicGet(queue, false);
            assertThat(got).isNotNull();
            assertThat(new String(got.getBody(), StandardCharsets.UTF_8)).isEqualTo("still here");
            assertThat(got.getProps().getDeliveryMode()).isEqualTo(2);
            ch.basicAck(got.getEnvelope().getDeliveryTag(), false);
            ch.queueDelete(queue);
        }
    }

    @Test
    void aKilledNodeStartsAgainWithItsConfirmedMessages(RabbitNode node) throws Exception {
        String queue = "crash-survivor";
        try (Connection c = connect(node); Channel ch = c.createChannel()) {
            declareQuorum(ch, queue);
            publishConfirmed(ch, queue, "confirmed before the crash");
        }
        assertThat(nodeProcesses(node.nodeName())).as("the broker VM is visible in ps by its node name").isNotEmpty();
        // RabbitMQ 3.10 (Ra) registers a new quorum queue's server on disk lazily: SIGKILLed within about half a
        // second of the declaration, the queue comes back without its server and every operation on it times out
        // (after 60 s). A crash test must let a new quorum queue settle first.
        Thread.sleep(1_500);

        long t0 = System.nanoTime();
        node.kill();
        System.out.printf("[RabbitNodeTest] kill %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        assertThat(node.isRunning()).isFalse();
        assertThat(nodeProcesses(node.nodeName())).isEmpty();
        assertThat(RabbitNode.listening(node.port())).isFalse();

        node.startAgain();
        System.out.printf("[RabbitNodeTest] startAgain after kill %d ms%n", node.lastStartMillis());
        try (Connection c = connect(node); Channel ch = c.createChannel()) {
            GetResponse got = ch.basicGet(queue, true);
            assertThat(got).isNotNull();
            assertThat(new String(got.getBody(), StandardCharsets.UTF_8)).isEqualTo("confirmed before the crash");
            ch.queueDelete(queue);
        }
    }

    @Test
    void twoNodesRunAtOnceAndCloseLeavesNothingBehind(RabbitNode first) throws Exception {
        RabbitNode second = RabbitNode.start();
        Path dir = second.dir();
        String name = second.nodeName();
        int[] ports = {second.port(), second.distPort(), second.epmdPort()};
        try {
            System.out.printf("[RabbitNodeTest] second node %s started in %d ms%n", second, second.lastStartMillis());
            assertThat(second.port()).isNotEqualTo(first.port());
            assertThat(second.nodeName()).isNotEqualTo(first.nodeName());
            assertThat(second.dir()).isNotEqualTo(first.dir());
            assertThat(dir.getFileName().toString()).startsWith("taskbatch-rabbit-");
            assertThat(dir.getParent()).isEqualTo(Path.of(System.getProperty("java.io.tmpdir")).toRealPath());
            Path cookie = dir.resolve("home/.erlang.cookie");
            assertThat(Files.getPosixFilePermissions(cookie)).hasSize(1);

            try (Connection c = connect(second); Channel ch = c.createChannel()) {
                declareQuorum(ch, "only-on-second");
            }
            try (Connection c = connect(first); Channel ch = c.createChannel()) {
                assertThat(ch.isOpen()).isTrue();
            }
            assertThat(second.rabbitmqctl("list_queues", "-q", "--no-table-headers", "name")).contains("only-on-second");
            assertThat(first.rabbitmqctl("list_queues", "-q", "--no-table-headers", "name")).doesNotContain("only-on-second");
            assertThat(nodeProcesses(name)).isNotEmpty();
            assertThat(processesMentioning("-port " + second.epmdPort())).as("its own epmd").isNotEmpty();
        } finally {
            long t0 = System.nanoTime();
            second.close();
            System.out.printf("[RabbitNodeTest] close %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        }
        assertThat(nodeProcesses(name)).isEmpty();
        assertThat(processesMentioning(dir.toString())).isEmpty();
        assertThat(processesMentioning("-port " + ports[2])).as("no epmd left").isEmpty();
        for (int port : ports) {
            assertThat(RabbitNode.listening(port)).as("port %d closed", port).isFalse();
        }
        assertThat(dir).doesNotExist();
        second.close(); // idempotent
        assertThatThrownBy(() -> second.rabbitmqctl("status")).isInstanceOf(IllegalStateException.class);
        assertThat(first.isRunning()).isTrue();
    }

    @Test
    void aMissingInstallationFailsWithTheInstallCommand(@TempDir Path empty) {
        assertThatThrownBy(() -> RabbitNode.builder().installDir(empty).start())
                .hasMessageContaining("apt-get install -y rabbitmq-server");
    }

    // ------------------------------------------------------------------ helpers

    private static Connection connect(RabbitNode node) throws Exception {
        ConnectionFactory f = new ConnectionFactory();
        f.setUri(node.amqpUri());
        f.setAutomaticRecoveryEnabled(false);
        f.setConnectionTimeout(5_000);
        return f.newConnection("rabbit-node-test");
    }

    private static void declareQuorum(Channel ch, String queue) throws IOException {
        ch.queueDeclare(queue, true, false, false, Map.of("x-queue-type", "quorum"));
    }

    private static void publishConfirmed(Channel ch, String queue, String body) throws Exception {
        ch.confirmSelect();
        AMQP.BasicProperties persistent = MessageProperties.PERSISTENT_TEXT_PLAIN;
        ch.basicPublish("", queue, persistent, body.getBytes(StandardCharsets.UTF_8));
        ch.waitForConfirmsOrDie(Duration.ofSeconds(10).toMillis());
    }

    /**
     * "name type durable" lines. (Message counts of quorum queues in list_queues lag by several seconds: they
     * come from periodic statistics. The passive declare's count is current.)
     */
    private static String queueList(RabbitNode node) {
        return node.rabbitmqctl("list_queues", "-q", "--no-table-headers", "name", "type", "durable");
    }

    /** Live (non-zombie) processes whose arguments name the node (the broker VM carries -taskbatch_node NAME). */
    private static List<String> nodeProcesses(String nodeName) throws Exception {
        return processesMentioning(nodeName);
    }

    private static List<String> processesMentioning(String text) throws Exception {
        Process ps = new ProcessBuilder("ps", "-eo", "stat=,args=").redirectErrorStream(true).start();
        String out = new String(ps.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        ps.waitFor();
        return out.lines().map(String::trim)
                .filter(l -> !l.startsWith("Z"))
                .filter(l -> l.contains(text))
                .filter(l -> !l.contains("ps -eo"))
                .toList();
    }
}
