package io.taskbatch.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class StartupClockTest {
    @Test
    void theStartIsField22OfTheStatLineWhateverTheProcessIsCalled() {
        String stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 1234 0 0 0 93 12 0 0 20 0 27 0 123456 8886896640 150000 "
                + "18446744073709551615 1 1 0 0 0 0 0 4096 17418 0 0 0 17 1 0 0 0 0 0";
        assertThat(StartupClock.startedSinceBoot(stat)).isEqualTo(1234.56);
    }

    @Test
    void thisProcessStartedJustBeforeItsJvmToTheHundredthOfASecond() {
        assumeThat(Files.exists(Path.of("/proc/self/stat"))).isTrue();
        Instant jvm = Instant.ofEpochMilli(ManagementFactory.getRuntimeMXBean().getStartTime());
        Instant process = StartupClock.processStart();
        // exec to the JVM's clock takes milliseconds; /proc counts in 10 ms ticks
        assertThat(process).isBetween(jvm.minus(Duration.ofSeconds(2)), jvm.plusMillis(20));
        assertThat(Duration.between(process, jvm)).isLessThan(Duration.ofMillis(300));
    }

    @Test
    void theLinesTheBenchReadsBack() {
        assertThat(StartupClock.seconds("worker", StartupClock.line("worker", Duration.ofMillis(1234)))).containsExactly(1.23);
        assertThat(StartupClock.firstResultCpu("worker", "worker first result after 0.96 s of CPU, 0.30 s compiling"))
                .singleElement().satisfies(c -> assertThat(c).containsExactly(0.96, 0.30));
        assertThat(StartupClock.spent("worker", "worker first result after 0.96 s of CPU, 0.30 s compiling")).isEmpty();
    }
}
