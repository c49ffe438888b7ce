//! The owner's survey: do people hear the same mood in a song as they see in its landscape?
//!
//! A kit ([`kit`]) pairs each song with the landscape Moodscape paints for it: the song goes
//! through the same analyser and VA model as the plugin, and its clip-mean VA conditions the
//! generator. People rate every song and every picture on their own, on 9-point
//! Self-Assessment-Manikin scales, under codes that do not reveal which picture belongs to which
//! song ([`ratings`]). The report ([`report`]) maps ratings to [-1, 1] with (x - 5) / 4 and gives
//! the error between a song's and its picture's rated VA, next to the error of mismatched pairs
//! (what the error would be if the pictures carried no information about the songs).

pub mod kit;
pub mod ratings;
pub mod report;

pub use ratings::{parse_ratings, read_items, write_items, Rating, Stimulus, SurveyItem};
pub use report::{build_report, SurveyReport};
