package io.taskbatch.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
    @Test
    void backoffDoublesUpToTheMaximum() {
        RetryPolicy p = new RetryPolicy(10, Duration.ofSeconds(2), Duration.ofSeconds(10));
        assertThat(p.delayAfter(1)).isEqualTo(Duration.ofSeconds(2));
        assertThat(p.delayAfter(2)).isEqualTo(Duration.ofSeconds(4));
        assertThat(p.delayAfter(3)).isEqualTo(Duration.ofSeconds(8));
        assertThat(p.delayAfter(4)).isEqualTo(Duration.ofSeconds(10));
        assertThat(p.delayAfter(60)).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void attemptsAreCountedFromOne() {
        RetryPolicy p = new RetryPolicy(3, Duration.ZERO, Duration.ZERO);
        assertThat(p.mayRetryAfter(1)).isTrue();
        assertThat(p.mayRetryAfter(2)).isTrue();
        assertThat(p.mayRetryAfter(3)).isFalse();
    }
}
