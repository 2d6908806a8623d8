package io.taskbatch.queue.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.AuthenticationFailureException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class BrokerWaitTest {

    @Test
    void backoffDoublesFromHalfASecondToTenWithJitter() {
        BrokerWait.Backoff backoff = new BrokerWait.Backoff();
        long[] bases = {500, 1000, 2000, 4000, 8000, 10_000, 10_000};
        for (long base : bases) {
            assertThat(backoff.next()).isBetween(Math.round(base * 0.8), Math.round(base * 1.2));
        }
    }

    @Test
    void refusedCredentialsAreFinalAndAnUnreachableHostIsNot() {
        assertThat(BrokerWait.refusal(new AuthenticationFailureException("ACCESS_REFUSED - Login was refused"), "ACCESS_REFUSED"))
                .contains("user and password");
        assertThat(BrokerWait.refusal(new ConnectException("Connection refused"), "Connection refused")).isNull();
    }

    @Test
    void untilLogsOnceWhenItWaitsAndOnceWhenItIsOver() throws Exception {
        List<String> lines = new ArrayList<>();
        AtomicInteger calls = new AtomicInteger();
        boolean done = new BrokerWait(null, lines::add).until(() -> calls.incrementAndGet() >= 3, "waiting", () -> "ready");
        assertThat(done).isTrue();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).isEqualTo("waiting");
        assertThat(lines.get(1)).matches("ready after [0-9.]+ s");
    }

    @Test
    void aBoundedWaitForAClosedPortGivesUpWithOneLineThatNamesTheBroker() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> lines = new ArrayList<>();
        BrokerWait wait = new BrokerWait(Duration.ofSeconds(2), lines::add);
        assertThatThrownBy(() -> wait.connect(BrokerAddress.of("amqp://u:secret@127.0.0.1:" + port), "test"))
                .isInstanceOf(BrokerWait.GaveUp.class)
                .hasMessageMatching("cannot reach the broker at amqp://u:\\*\\*\\*@127.0.0.1:" + port
                        + " \\(Connection refused\\); gave up after [0-9.]+ s \\(--broker-wait 2 s\\)");
        assertThat(lines).hasSize(1);
        assertThat(lines.get(0)).startsWith("cannot reach the broker at amqp://u:***@127.0.0.1:" + port
                + " (Connection refused); retrying in ").doesNotContain("secret");
    }
}
