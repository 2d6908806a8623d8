package io.taskbatch.it;

import static io.taskbatch.it.JarProcesses.exitOf;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code taskbatch operator} with no cluster to talk to: one line that says what to do, exit 3, no stack trace. */
class OperatorStartIT {
    @TempDir
    Path dir;

    @Test
    void anUnreachableApiServerGetsOneLineAndExitCode3() throws Exception {
        try (JarProcesses jar = new JarProcesses(dir, "amqp://127.0.0.1:1")) {
            Process operator = jar.start("operator", Map.of("QUARKUS_KUBERNETES_CLIENT_API_SERVER_URL", "https://127.0.0.1:1",
                    "KUBERNETES_AUTH_TRYKUBECONFIG", "false"), "operator");
            assertThat(exitOf(operator, Duration.ofSeconds(90))).as(jar.log("operator")).isEqualTo(3);
            String log = jar.log("operator");
            assertThat(log).contains("cannot start the operator: the Kubernetes API at https://127.0.0.1:1/ cannot be reached",
                    "point KUBECONFIG").doesNotContain("\tat ").doesNotContain("Exception");
        }
    }
}
