package io.taskbatch.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One scrape of a Prometheus text endpoint ({@code /q/metrics}), as Prometheus reads it: samples by name and labels.
 */
public record Scrape(List<Sample> samples) {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static final Pattern LINE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})?\\s+(\\S+)(?:\\s+\\d+)?");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** One sample line. */
    public record Sample(String name, Map<String, String> labels, double value) {
    }

    /** GETs {@code http://127.0.0.1:port/path}: the status code and body. */
    public static HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(5))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Scrapes {@code /q/metrics} on {@code port}. */
    public static Scrape of(int port) throws IOException, InterruptedException {
        HttpResponse<String> response = get(port, "/q/metrics");
        if (response.statusCode() != 200) throw new IOException("/q/metrics answered " + response.statusCode());
        return parse(response.body());
    }

    public static Scrape parse(String text) {
        List<Sample> samples = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            Matcher m = LINE.matcher(line.strip());
            if (!m.matches()) throw new IllegalArgumentException("not a Prometheus sample line: " + line);
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) labels.put(l.group(1), l.group(2));
            }
            samples.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(3))));
        }
        return new Scrape(samples);
    }

    /** The sum of the samples named {@code name} whose labels include {@code labels} (pairs: name, value, ...). */
    public double sum(String name, String... labels) {
        return matching(name, labels).stream().mapToDouble(Sample::value).sum();
    }

    /** The samples named {@code name} whose labels include {@code labels} (pairs: name, value, ...). */
    public List<Sample> matching(String name, String... labels) {
        return samples.stream().filter(s -> s.name().equals(name)).filter(s -> {
            for (int i = 0; i < labels.length; i += 2) {
                if (!labels[i + 1].equals(s.labels().get(labels[i]))) return false;
            }
            return true;
        }).toList();
    }

    /** Every metric name in the scrape. */
    public java.util.Set<String> names() {
        java.util.Set<String> names = new java.util.TreeSet<>();
        samples.forEach(s -> names.add(s.name()));
        return names;
    }
}
