package io.taskbatch.queue.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BrokerAddressTest {
    @Test
    void thePasswordNeverShows() {
        BrokerAddress a = BrokerAddress.of("amqps://app:s3cr3t@rabbit.example:5671/batch");
        assertThat(a.toString()).isEqualTo("amqps://app:***@rabbit.example:5671/batch").doesNotContain("s3cr3t");
        assertThatThrownBy(() -> BrokerAddress.of("http://app:s3cr3t@rabbit:5672"))
                .hasMessageContaining("must start with amqp://").hasMessageNotContaining("s3cr3t");
    }

    @Test
    void theOptionWinsThenTheFileThenTheEnvironment(@TempDir Path dir) throws Exception {
        Path secret = Files.writeString(dir.resolve("uri"), "amqp://u:p@from-file:5672\n");
        Map<String, String> env = Map.of(BrokerAddress.ENV_URI, "amqp://u:p@from-env:5672");
        assertThat(BrokerAddress.resolve("amqp://u:p@from-option:5672", secret, null, env).toString()).contains("from-option");
        assertThat(BrokerAddress.resolve(null, secret, null, env).toString()).contains("from-file");
        assertThat(BrokerAddress.resolve(null, null, null, env).toString()).contains("from-env");
        assertThat(BrokerAddress.resolve(null, null, null, Map.of(BrokerAddress.ENV_URI_FILE, secret.toString())).toString())
                .contains("from-file");
        assertThatThrownBy(() -> BrokerAddress.resolve(null, null, null, Map.of())).hasMessageContaining("--broker");
    }

    @Test
    void queueNamesComeFromTheBatchIdentity() {
        BatchQueues q = BatchQueues.of("team-a", "Squares", "1234abcd-5678");
        assertThat(q.tasks()).isEqualTo("taskbatch.team-a.squares.1234abcd.tasks");
        assertThat(q.retry(2)).isEqualTo("taskbatch.team-a.squares.1234abcd.retry.2");
        assertThat(BatchQueues.of(null, "squares", null).results()).isEqualTo("taskbatch.local.squares.results");
    }
}
