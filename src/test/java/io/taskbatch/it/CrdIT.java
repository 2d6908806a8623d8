package io.taskbatch.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The CRD users apply is the one the build generates from the API classes. */
class CrdIT {
    private static final String FILE = "taskbatches.taskbatch.io-v1.yml";

    @Test
    void theCommittedCrdIsTheGeneratedOne() throws Exception {
        Path generated = Path.of("target", "kubernetes", FILE);
        Path committed = Path.of("k8s", "crd", FILE);
        assertThat(generated).as("the build generates the CRD (quarkus.operator-sdk.crd.generate-all)").exists();
        assertThat(Files.readString(committed))
                .as("k8s/crd/%s is out of date: the API classes changed; copy %s over it", FILE, generated)
                .isEqualTo(Files.readString(generated));
    }
}
