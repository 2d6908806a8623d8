package io.taskbatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.junit.main.Launch;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainTest;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The whole application, Quarkus and picocli included, launched with a user's arguments. */
@QuarkusMainTest
class RunMainTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    @Launch({"run", "k8s/examples/squares.yaml", "--progress", "plain"})
    void theSquaresDemoGivesExactlyTheExpectedLines(LaunchResult result) throws Exception {
        assertThat(result.exitCode()).isZero();
        List<JsonNode> lines = result.getOutputStream().stream().filter(l -> !l.isBlank()).map(l -> {
            try {
                return JSON.readTree(l);
            } catch (Exception e) {
                throw new AssertionError("not a JSON line: " + l, e);
            }
        }).sorted(Comparator.comparingLong(n -> n.get("id").asLong())).toList();
        assertThat(lines).extracting(n -> n.get("id").asLong() + " " + n.get("input").asText() + " "
                        + n.get("status").asText() + " " + n.get("output").asText() + " " + n.get("attempts").asInt()
                        + " " + n.get("error").isNull() + " " + n.get("durationMs").isNumber())
                .containsExactly(
                        "0 3411 succeeded 3411 * 3411 = 11634921 1 true true",
                        "1 1605 succeeded 1605 * 1605 = 2576025 1 true true",
                        "2 7 succeeded 7 * 7 = 49 1 true true",
                        "3 12 succeeded 12 * 12 = 144 1 true true",
                        "4 1000000 succeeded 1000000 * 1000000 = 1000000000000 1 true true");
        assertThat(result.getErrorOutput()).contains("squares: succeeded: 5/5 done, 5 succeeded, 0 failed");
    }

    @Test
    @Launch({"--help"})
    void helpListsTheRoles(LaunchResult result) {
        assertThat(result.getOutput()).contains("Usage: taskbatch").contains("run");
    }

    @Test
    @Launch(value = {"run", "k8s/examples/no-such-file.yaml"}, exitCode = 2)
    void aMissingManifestExitsWith2(LaunchResult result) {
        assertThat(result.getErrorOutput()).contains("no-such-file.yaml: no such file");
    }

    @Test
    @Launch(value = {"run", "--ouput", "x.jsonl", "k8s/examples/squares.yaml"}, exitCode = 2)
    void aMistypedOptionInTheAppGetsASuggestionNotTheUsage(LaunchResult result) {
        assertThat(result.getErrorOutput()).contains("Unknown option: '--ouput'").contains("Did you mean --output?")
                .doesNotContain("Usage:");
    }
}
