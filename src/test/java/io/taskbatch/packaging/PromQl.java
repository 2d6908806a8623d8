package io.taskbatch.packaging;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Just enough PromQL reading to know which metrics an expression names, and which label names it matches them on:
 * not a parser, a tokenizer that leaves out what is not a metric name (string literals, label matchers, grouping
 * label lists, range and offset durations, Grafana's {@code $variables}, functions, keywords and numbers).
 */
final class PromQl {
    /** A metric named in a selector, with the label names its matchers use (empty without braces). */
    record Selector(String metric, Set<String> labels) {
    }

    private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
            "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan");
    private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`");
    private static final Pattern GROUPING = Pattern.compile(
            "\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^()]*\\)", Pattern.CASE_INSENSITIVE);
    private static final Pattern RANGE = Pattern.compile("\\[[^\\]]*]");
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{[^}]*}|\\$\\w+");
    /** A number or duration (one token, so that 5m yields no "m"), or an identifier and what follows it. */
    private static final Pattern TOKEN = Pattern.compile("(\\d[\\w.]*)|([a-zA-Z_:][\\w:]*)(\\s*)(\\(|\\{[^}]*})?");
    private static final Pattern MATCHER_LABEL = Pattern.compile("([a-zA-Z_]\\w*)\\s*(=~|!~|!=|=)");

    private PromQl() {
    }

    /** The metric names in {@code expr}. */
    static Set<String> metricNames(String expr) {
        Set<String> names = new LinkedHashSet<>();
        selectors(expr).forEach(s -> names.add(s.metric()));
        return names;
    }

    /** The selectors of {@code expr}: each metric name with the label names of its matchers. */
    static List<Selector> selectors(String expr) {
        // strings first (they may hold anything), keeping their place so "x{a="b"}" stays a selector
        String text = STRING.matcher(expr).replaceAll("\"\"");
        text = VARIABLE.matcher(text).replaceAll("0");
        text = RANGE.matcher(text).replaceAll(" ");
        text = GROUPING.matcher(text).replaceAll(" ");
        text = text.replaceAll("(?i)\\boffset\\s+-?\\d\\w*", " ");
        List<Selector> out = new ArrayList<>();
        Matcher m = TOKEN.matcher(text);
        while (m.find()) {
            if (m.group(2) == null) continue; // number or duration
            String word = m.group(2);
            String after = m.group(4);
            if (after != null && after.equals("(")) continue; // function or aggregation
            if (KEYWORDS.contains(word.toLowerCase(java.util.Locale.ROOT))) continue;
            Set<String> labels = new LinkedHashSet<>();
            if (after != null) {
                Matcher l = MATCHER_LABEL.matcher(after);
                while (l.find()) labels.add(l.group(1));
            }
            out.add(new Selector(word, labels));
        }
        return out;
    }

    /** Label names per metric over several expressions. */
    static Map<String, Set<String>> labelsByMetric(List<String> exprs) {
        Map<String, Set<String>> out = new LinkedHashMap<>();
        for (String expr : exprs) {
            for (Selector s : selectors(expr)) out.computeIfAbsent(s.metric(), k -> new LinkedHashSet<>()).addAll(s.labels());
        }
        return out;
    }
}
