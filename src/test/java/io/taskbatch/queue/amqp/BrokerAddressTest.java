package io.taskbatch.queue.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import static org.assertj.core.api.Assertions.tuple;

import com.rabbitmq.client.Address;
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

    @Test
    void aBatchOfManyAttemptsHasAtMostSixteenRetryQueuesTheLastServingEveryLaterAttempt() {
        BatchQueues q = BatchQueues.of(null, "many", null);
        assertThat(BatchQueues.retryQueues(1)).isZero();
        assertThat(BatchQueues.retryQueues(3)).isEqualTo(2);
        assertThat(BatchQueues.retryQueues(1000)).isEqualTo(16);
        assertThat(q.retry(16)).isEqualTo("taskbatch.local.many.retry.16");
        assertThat(q.retry(999)).isEqualTo(q.retry(16));
    }

    @Test
    void aClusterIsOneUriWithItsNodesSeparatedByCommas() {
        BrokerAddress a = BrokerAddress.of("amqp://app:s3cr3t@rabbit-0:5673,rabbit-1,[::1]:5674/batch");
        assertThat(a.nodes()).extracting(Address::getHost, Address::getPort)
                .containsExactly(tuple("rabbit-0", 5673), tuple("rabbit-1", -1), tuple("[::1]", 5674));
        assertThat(a.toString()).isEqualTo("amqp://app:***@rabbit-0:5673,rabbit-1,[::1]:5674/batch");
        // the factory gets the first node, with credentials and virtual host: what a single-node URI gives it
        assertThat(a.connectionFactory().getHost()).isEqualTo("rabbit-0");
        assertThat(a.connectionFactory().getPort()).isEqualTo(5673);
        assertThat(a.connectionFactory().getVirtualHost()).isEqualTo("batch");
        assertThat(a.connectionFactory().getPassword()).isEqualTo("s3cr3t");
        assertThat(BrokerAddress.of("amqp://u:p@only:5672/%2F").nodes()).extracting(Address::getHost, Address::getPort)
                .containsExactly(tuple("only", 5672));
        assertThatThrownBy(() -> BrokerAddress.of("amqp://app:s3cr3t@rabbit-0,,rabbit-2/batch"))
                .hasMessageContaining("names an empty node").hasMessageNotContaining("s3cr3t");
    }

    @Test
    void shardsKeepTheSingleQueueNamesForShardZeroAndGoByTaskId() {
        BatchQueues one = BatchQueues.of(null, "squares", null);
        BatchQueues three = one.withShards(3);
        assertThat(three.tasks(0)).isEqualTo(one.tasks()).isEqualTo("taskbatch.local.squares.tasks");
        assertThat(three.results(0)).isEqualTo(one.results());
        assertThat(three.tasks(2)).isEqualTo("taskbatch.local.squares.tasks.2");
        assertThat(three.results(1)).isEqualTo("taskbatch.local.squares.results.1");
        assertThat(three.inRound(1).shards()).isEqualTo(3);
        assertThat(three.inRound(1).tasks(1)).isEqualTo("taskbatch.local.squares.r1.tasks.1");
        assertThat(java.util.stream.LongStream.range(0, 9).mapToInt(three::shardOf).boxed().toList())
                .containsExactly(0, 1, 2, 0, 1, 2, 0, 1, 2);
        assertThat(one.shardOf(12345)).isZero();
        assertThatThrownBy(() -> one.withShards(0)).hasMessageContaining("shards must be at least 1");
    }
}
