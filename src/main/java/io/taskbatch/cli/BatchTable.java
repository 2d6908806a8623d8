package io.taskbatch.cli;

import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * {@code kubectl get tb} as text: the CRD's printer columns ({@link TaskBatch#PRINTER_COLUMNS}), a missing value
 * as {@code <none>}, ages as kubectl writes them, columns three spaces apart.
 */
final class BatchTable {
    static final String NONE = "<none>";

    private BatchTable() {
    }

    /** The value of each printer column, by its name; MESSAGE only with {@code wide}. */
    static List<String> headers(boolean wide, boolean namespaces) {
        List<String> headers = new ArrayList<>();
        if (namespaces) headers.add("NAMESPACE");
        headers.add("NAME");
        for (String column : TaskBatch.PRINTER_COLUMNS) if (wide || !column.equals("MESSAGE")) headers.add(column);
        return headers;
    }

    static String render(List<TaskBatch> batches, boolean wide, boolean namespaces, Instant now) {
        List<String> headers = headers(wide, namespaces);
        List<List<String>> rows = new ArrayList<>();
        rows.add(headers);
        for (TaskBatch b : batches) {
            List<String> row = new ArrayList<>();
            for (String h : headers) row.add(cell(b, h, now));
            rows.add(row);
        }
        return layout(rows);
    }

    private static String cell(TaskBatch b, String column, Instant now) {
        TaskBatchStatus s = b.getStatus() == null ? new TaskBatchStatus() : b.getStatus();
        Function<Object, String> v = o -> o == null ? NONE : o.toString();
        return switch (column) {
            case "NAMESPACE" -> b.getMetadata().getNamespace();
            case "NAME" -> b.getMetadata().getName();
            case "PHASE" -> v.apply(s.getPhase());
            case "DONE" -> v.apply(s.getDone());
            case "FAILED" -> v.apply(s.getFailed());
            case "WORKERS" -> v.apply(s.getWorkers());
            case "RATE" -> v.apply(s.getRate());
            case "ETA" -> v.apply(s.getEta());
            case "AGE" -> age(b.getMetadata().getCreationTimestamp(), now);
            case "MESSAGE" -> v.apply(s.getMessage());
            default -> throw new IllegalArgumentException("no column " + column);
        };
    }

    /** Columns left-aligned, each as wide as its widest cell, three spaces apart; no trailing blanks. */
    static String layout(List<List<String>> rows) {
        int columns = rows.get(0).size();
        int[] width = new int[columns];
        for (List<String> row : rows) for (int i = 0; i < columns; i++) width[i] = Math.max(width[i], row.get(i).length());
        StringBuilder sb = new StringBuilder();
        for (List<String> row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < columns; i++) {
                line.append(row.get(i));
                if (i < columns - 1) line.append(" ".repeat(width[i] - row.get(i).length() + 3));
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    /** Time since {@code timestamp} (RFC 3339) as kubectl's AGE column writes it; {@code <unknown>} when unset. */
    static String age(String timestamp, Instant now) {
        if (timestamp == null) return "<unknown>";
        try {
            return humanDuration(Duration.between(Instant.parse(timestamp), now));
        } catch (DateTimeParseException e) {
            return "<unknown>";
        }
    }

    /** kubectl's short durations: {@code 45s}, {@code 3m10s}, {@code 25m}, {@code 5h3m}, {@code 12h}, {@code 3d4h}, {@code 20d}, {@code 2y}. */
    static String humanDuration(Duration d) {
        long seconds = d.toSeconds();
        if (seconds < -1) return "<invalid>";
        if (seconds < 0) return "0s";
        if (seconds < 120) return seconds + "s";
        long minutes = d.toMinutes();
        if (minutes < 10) return seconds % 60 == 0 ? minutes + "m" : minutes + "m" + seconds % 60 + "s";
        if (minutes < 180) return minutes + "m";
        long hours = d.toHours();
        if (hours < 8) return minutes % 60 == 0 ? hours + "h" : hours + "h" + minutes % 60 + "m";
        if (hours < 48) return hours + "h";
        if (hours < 24 * 8) return hours % 24 == 0 ? hours / 24 + "d" : hours / 24 + "d" + hours % 24 + "h";
        if (hours < 24 * 365 * 2) return hours / 24 + "d";
        long years = hours / 24 / 365;
        if (hours < 24 * 365 * 8) {
            long days = hours / 24 % 365;
            return days == 0 ? years + "y" : years + "y" + days + "d";
        }
        return years + "y";
    }

    static String orNone(Object o) {
        return Objects.toString(o, NONE);
    }
}
