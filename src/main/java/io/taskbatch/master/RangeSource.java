package io.taskbatch.master;

import java.util.stream.LongStream;
import java.util.stream.Stream;

/** The integers {@code from..to} (inclusive) by {@code step}. */
public record RangeSource(long from, long to, long step) implements TaskSource {

    public RangeSource {
        if (step == 0) throw new IllegalArgumentException("step must not be 0");
    }

    @Override
    public String description() {
        return "range " + from + ".." + to + " step " + step;
    }

    @Override
    public long count() {
        if (step > 0 ? from > to : from < to) return 0;
        return Math.floorDiv(to - from, step) + 1;
    }

    @Override
    public Stream<String> inputs() {
        return LongStream.range(0, count()).mapToObj(i -> Long.toString(from + i * step));
    }
}
