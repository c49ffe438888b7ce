//! Decoding audio files (WAV, FLAC, MP3, Ogg Vorbis) with symphonia into interleaved f32.
