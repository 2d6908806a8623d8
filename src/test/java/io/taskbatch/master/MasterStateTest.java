package io.taskbatch.master;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import java.io.FileOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MasterStateTest {
    @Test
    void aRestartedMasterResumesFromItsCheckpointAndDropsAHalfWrittenLine(@TempDir Path dir) throws Exception {
        Path results = dir.resolve("results.jsonl");
        MasterState first = MasterState.open(dir, results, "q.a");
        assertThat(first.resuming()).isFalse();
        try (JsonLinesSink sink = new JsonLinesSink(new FileOutputStream(results.toFile(), true), true)) {
            sink.write(ResultMessage.succeeded(TaskMessage.first(0, "a"), "A", 1, "w"));
            sink.write(ResultMessage.failed(new TaskMessage(1, 3, "b", null), "boom", 1, "w"));
        }
        first.checkpoint(5);
        Files.writeString(results, Files.readString(results) + "{\"id\":2,\"inp"); // killed mid-write

        MasterState again = MasterState.open(dir, results, "q.a");
        assertThat(again.resuming()).isTrue();
        assertThat(again.confirmedPrefix()).isEqualTo(5);
        List<ResultMessage> stored = new ArrayList<>();
        again.storedResults().forEach(stored::add);
        assertThat(stored).extracting(ResultMessage::id).containsExactly(0L, 1L);
        assertThat(stored.get(1).attempts()).isEqualTo(3);
        assertThat(Files.readString(results)).endsWith("}\n");

        Master master = new Master(new Master.Settings("b", 0, java.time.Duration.ofSeconds(1), ProgressListener.NONE));
        master.resume(again.storedResults(), again.confirmedPrefix());
        assertThat(master.doneCount()).isEqualTo(2);
    }

    @Test
    void aCheckpointOfAnotherBatchStartsAfresh(@TempDir Path dir) throws Exception {
        Path results = dir.resolve("results.jsonl");
        MasterState.open(dir, results, "q.a").checkpoint(9);
        Files.writeString(results, "{\"id\":0}\n");
        MasterState other = MasterState.open(dir, results, "q.b");
        assertThat(other.resuming()).isFalse();
        assertThat(Files.size(results)).isZero();
    }
}
