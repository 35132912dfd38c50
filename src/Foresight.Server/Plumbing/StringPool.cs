namespace Foresight.Server.Plumbing;

/// <summary>
/// One string per distinct short text (question ids, option codes, years), for data that holds millions of answers:
/// each repeat shares the first instance instead of keeping its own copy. Longer texts pass through. Not thread-safe.
/// </summary>
public sealed class StringPool(int maxLength = 16)
{
    readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);

    public string Get(string s)
    {
        if (s.Length > maxLength) return s;
        if (_strings.TryGetValue(s, out var pooled)) return pooled;
        _strings[s] = s;
        return s;
    }
}
