package io.taskbatch.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class GoDurationTest {
    @Test
    void parsesKubernetesStyleDurations() {
        assertThat(GoDuration.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(GoDuration.parse("2s")).isEqualTo(Duration.ofSeconds(2));
        assertThat(GoDuration.parse("10m")).isEqualTo(Duration.ofMinutes(10));
        assertThat(GoDuration.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(GoDuration.parse("1.5s")).isEqualTo(Duration.ofMillis(1500));
    }

    @Test
    void rejectsWhatIsNotADurationWithAnExample() {
        for (String bad : new String[] {"10", "10 minutes", "1d", "", "-1s", "s"}) {
            assertThatThrownBy(() -> GoDuration.parse(bad)).hasMessageContaining("e.g. 500ms");
        }
    }
}
