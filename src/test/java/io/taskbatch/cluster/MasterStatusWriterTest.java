package io.taskbatch.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The ETA the master writes next to its counts. */
class MasterStatusWriterTest {

    @Test
    void etaIsTheTasksLeftOverTheRateRoundedUp() {
        assertThat(MasterStatusWriter.eta(100, 1000, 20)).isEqualTo("45s");
        assertThat(MasterStatusWriter.eta(0, 1000, 3)).isEqualTo("5m34s"); // 333.3 s, up to 334
        assertThat(MasterStatusWriter.eta(0, 190, 1)).isEqualTo("3m10s");
        assertThat(MasterStatusWriter.eta(0, 60, 1)).isEqualTo("1m0s");
        assertThat(MasterStatusWriter.eta(0, 7500, 1)).isEqualTo("2h5m");
        assertThat(MasterStatusWriter.eta(999, 1000, 4210)).isEqualTo("1s");
    }

    @Test
    void etaIsZeroWhenDoneAndUnknownWithoutATotalOrARate() {
        assertThat(MasterStatusWriter.eta(1000, 1000, 0)).isEqualTo("0s");
        assertThat(MasterStatusWriter.eta(1000, 1000, 50)).isEqualTo("0s");
        assertThat(MasterStatusWriter.eta(10, -1, 50)).as("total still being counted").isNull();
        assertThat(MasterStatusWriter.eta(10, 1000, 0)).as("nothing finished lately").isNull();
        assertThat(MasterStatusWriter.eta(10, 1000, Double.NaN)).isNull();
    }
}
