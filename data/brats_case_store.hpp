// The BraTS cases of a run, held in memory when they fit and read from disk when they do not.
// A 240x240x155 case is about 150 MB as float images and classes, so the 369 cases of BraTS
// 2020 take some 55 GB: more than most machines. Up to `memory_budget` bytes every case is
// loaded once, checked, and kept; above it, each case is checked by its headers up front and
// read when it is used, the most recently used kept up to the budget (a training epoch that
// takes a case's patches one after another reads each case once, as the reference program,
// which reads every case from disk every epoch).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "data/brats_scan.hpp"
#include "data/brats_volume.hpp"

namespace unet::data {

class BratsCaseStore {
 public:
  // Bad cases are named in `report` and left out (or stop it with config.strict): all of the
  // checks of load_brats_dataset when the cases are held, the header checks (files present,
  // 3D, the same shape) otherwise; a defect in the voxel data itself then shows when the case
  // is read (get() throws an Error naming the file).
  BratsCaseStore(const BratsScan& scan, const BratsLoadConfig& config, int64_t memory_budget, BratsLoadReport& report);

  size_t size() const { return files_.size(); }
  const std::string& id(size_t i) const { return files_.at(i).id; }
  bool held_in_memory() const { return held_; }
  int64_t bytes_of_all() const { return bytes_of_all_; }  // as float images + classes

  // Case i, loaded when it is not in memory.
  std::shared_ptr<const BratsCase> get(size_t i);

  // The bytes a case of these dims takes in memory: 4 float modalities and a byte of class.
  static int64_t case_bytes(const std::array<int64_t, 3>& dims);

 private:
  std::vector<BratsCaseFiles> files_;
  std::vector<int64_t> bytes_;
  bool held_ = false;
  int64_t budget_ = 0, bytes_of_all_ = 0, bytes_cached_ = 0;
  std::vector<std::shared_ptr<const BratsCase>> cached_;  // by index; null when not in memory
  std::list<size_t> recent_;                               // most recently used first
  std::mutex mu_;
};

// Half of this machine's physical memory (the default budget of a run).
int64_t default_case_memory_budget();

}  // namespace unet::data
