package io.taskbatch.master;

import java.util.List;
import java.util.stream.Stream;

/** Inputs listed in the manifest itself. */
public record ItemsSource(List<String> items) implements TaskSource {

    public ItemsSource {
        items = List.copyOf(items);
    }

    @Override
    public String description() {
        return items.size() + " inline items";
    }

    @Override
    public long count() {
        return items.size();
    }

    @Override
    public Stream<String> inputs() {
        return items.stream();
    }
}
