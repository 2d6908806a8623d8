package io.taskbatch.cli;

/** Counted nouns for what a user reads: "1 task", "2 tasks", "0 tasks". */
final class Plural {
    private Plural() {
    }

    /** {@code singular}, or its plural ({@code singular + "s"}) unless {@code count} is 1. */
    static String noun(long count, String singular) {
        return count == 1 ? singular : singular + "s";
    }

    /** The count and its noun: {@code of(1, "slot")} is "1 slot". */
    static String of(long count, String singular) {
        return count + " " + noun(count, singular);
    }
}
