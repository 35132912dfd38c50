namespace Foresight.Server.Plumbing;

/// <summary>
/// Files and folders only the server's own user may read: the database, the data-protection keys, the master key.
/// Modes are set explicitly after creating, so the process's umask does not matter. Windows has no Unix modes (ACLs
/// of the parent folder apply there), so these only create.
/// </summary>
public static class OwnerOnly
{
    public const UnixFileMode FileBits = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode DirectoryBits = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates the folder (and missing parents) 0700; an existing folder is set to 0700.</summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows()) { Directory.CreateDirectory(path); return; }
        Directory.CreateDirectory(path, DirectoryBits);
        File.SetUnixFileMode(path, DirectoryBits);
    }

    /// <summary>Creates the folder 0700 when it is missing; an existing one is left as its owner made it.</summary>
    public static void CreateNewDirectory(string path)
    {
        if (Directory.Exists(path)) return;
        if (OperatingSystem.IsWindows()) { Directory.CreateDirectory(path); return; }
        Directory.CreateDirectory(path, DirectoryBits);
    }

    /// <summary>Creates an empty file 0600 when it is missing (never readable by others, not even briefly); sets an existing one to 0600.</summary>
    public static void CreateFile(string path)
    {
        if (!File.Exists(path))
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileBits;
            try { using (new FileStream(path, options)) { } }
            catch (IOException) when (File.Exists(path)) { } // made meanwhile by another process: tightened below
        }
        Tighten(path);
    }

    /// <summary>Sets the file to 0600 if it exists.</summary>
    public static void Tighten(string path)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(path)) File.SetUnixFileMode(path, FileBits);
    }

    /// <summary>
    /// Writes the file whole and 0600: to a temporary file beside it, then renamed over it, so that a reader never sees
    /// half of it. With <paramref name="replace"/> false an existing file wins and false is returned.
    /// </summary>
    public static bool WriteFile(string path, string text, bool replace = true)
    {
        var temporary = $"{path}.{Guid.NewGuid():n}.tmp";
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileBits;
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(text);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temporary, FileBits);
            try { File.Move(temporary, path, overwrite: replace); }
            catch (IOException) when (!replace && File.Exists(path)) { return false; }
            return true;
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
