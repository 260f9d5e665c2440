//! Fixed-size matrix aliases. The state is `[e, n, u, ve, vn, vu]` in the fusion frame's
//! ENU metres and metres per second; measurements have at most three components.

use nalgebra::{SMatrix, SVector};

pub type Vec3 = SVector<f64, 3>;
pub type Vec6 = SVector<f64, 6>;
pub type Mat3 = SMatrix<f64, 3, 3>;
pub type Mat6 = SMatrix<f64, 6, 6>;
pub type Mat36 = SMatrix<f64, 3, 6>;
pub type Mat63 = SMatrix<f64, 6, 3>;

/// Position part of a state vector.
pub fn pos(x: &Vec6) -> Vec3 {
    Vec3::new(x[0], x[1], x[2])
}

/// Velocity part of a state vector.
pub fn vel(x: &Vec6) -> Vec3 {
    Vec3::new(x[3], x[4], x[5])
}

/// Position block of a state covariance.
pub fn pos_cov(p: &Mat6) -> Mat3 {
    p.fixed_view::<3, 3>(0, 0).into_owned()
}

/// Makes a covariance exactly symmetric (rounding drifts it apart over many updates).
pub fn symmetrize(p: &mut Mat6) {
    for i in 0..6 {
        for j in (i + 1)..6 {
            let m = 0.5 * (p[(i, j)] + p[(j, i)]);
            p[(i, j)] = m;
            p[(j, i)] = m;
        }
    }
}
