package io.taskbatch.plan;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as Kubernetes writes them: {@code 500ms}, {@code 2s}, {@code 10m}, {@code 1h30m}. */
public final class GoDuration {
    private static final Pattern WHOLE = Pattern.compile("(?:\\d+(?:\\.\\d+)?(?:ms|s|m|h))+");
    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)");

    private GoDuration() {
    }

    /** Parses {@code text}; throws IllegalArgumentException with a message that shows the format. */
    public static Duration parse(String text) {
        if (text == null || !WHOLE.matcher(text.strip()).matches()) {
            throw new IllegalArgumentException("\"" + text + "\" is not a duration; write a number and a unit"
                    + " (ms, s, m, h), e.g. 500ms, 2s, 10m, 1h30m");
        }
        Matcher m = PART.matcher(text.strip());
        double millis = 0;
        while (m.find()) {
            double value = Double.parseDouble(m.group(1));
            millis += switch (m.group(2)) {
                case "ms" -> value;
                case "s" -> value * 1_000;
                case "m" -> value * 60_000;
                default -> value * 3_600_000;
            };
        }
        return Duration.ofMillis(Math.round(millis));
    }
}
